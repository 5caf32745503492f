"""The former name of the cxrcaption Python package (python/ in the repository), kept so that older snippets
keep working: `from cxrcaption_ctypes import Model` is `from cxrcaption import Model`. New code: install the
package (`pip install ./python`, docs/INTEGRATIONS.md) and `import cxrcaption`.
"""
import os
import sys

try:
    import cxrcaption
except ImportError:  # a checkout without the package installed: use python/src
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    import cxrcaption

from cxrcaption import *  # noqa: E402,F401,F403  (re-exported names: cxrcaption.__all__)
from cxrcaption import __all__, __version__  # noqa: E402,F401
