"""Packaging hook: with CXRCAPTION_BUNDLE_LIBRARY=/path/to/libcxrcaption.so in the environment, the library is
copied into the package (found there at import) and the wheel is tagged for this platform. Without it the
package is pure Python and finds the library through CXRCAPTION_LIBRARY or the system's library path.

    CXRCAPTION_BUNDLE_LIBRARY=/usr/local/lib/libcxrcaption.so pip install ./python
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

BUNDLE = os.environ.get("CXRCAPTION_BUNDLE_LIBRARY")


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        if BUNDLE:
            if not os.path.isfile(BUNDLE):
                raise SystemExit(f"CXRCAPTION_BUNDLE_LIBRARY={BUNDLE}: no such file")
            target = os.path.join(self.build_lib, "cxrcaption", "libcxrcaption.so")
            shutil.copyfile(os.path.realpath(BUNDLE), target)
            os.chmod(target, 0o755)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return bool(BUNDLE)  # a bundled .so makes the wheel platform-specific


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
