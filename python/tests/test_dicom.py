"""cxrcaption.dicom on the DICOM fixtures (Tests/integrations/fixtures, made from the real RG1_UNCR.dcm)."""
import os

import numpy as np
import pydicom
import pytest

from cxrcaption import Photometric
from cxrcaption.dicom import dicom_image, dicom_window
from comparisons import same


def read(dicom_fixtures, name):
    return pydicom.dcmread(os.path.join(dicom_fixtures, name))


def test_attributes_become_image_keywords(dicom_fixtures):
    pixels, image = dicom_image(read(dicom_fixtures, "rg1_small.dcm"))
    assert pixels.dtype == np.uint16 and pixels.shape == (325, 306)
    assert image == {"photometric": Photometric.MONOCHROME1, "rescale": (1.0, 0.0), "window": (15000.0, 30000.0),
                     "bits_stored": 15}
    signed, image = dicom_image(read(dicom_fixtures, "rg1_small_signed_rescaled.dcm"))
    assert signed.dtype == np.float32 and signed.min() < 0
    assert image["rescale"] == (1.0, 16384.0) and "bits_stored" not in image
    assert np.array_equal(signed + 16384, pixels.astype(np.float32))
    _, image = dicom_image(read(dicom_fixtures, "rg1_small.dcm"), use_window=False)
    assert image["window"] is None


def test_signed_rescaled_copy_captions_identically(session, dicom_fixtures):
    """The signed fixture stores value - 16384 with RescaleIntercept 16384: the same modality values."""
    a = _generate(session, read(dicom_fixtures, "rg1_small.dcm"))
    b = _generate(session, read(dicom_fixtures, "rg1_small_signed_rescaled.dcm"))
    assert same(a, b)
    # ...and the attributes matter: without the window, or without MONOCHROME1, the model sees another image.
    pixels, image = dicom_image(read(dicom_fixtures, "rg1_small.dcm"))
    seen = session.preprocess(pixels, **image)
    assert not np.array_equal(seen, session.preprocess(pixels, **dict(image, window=None)))
    as_monochrome2 = session.preprocess(pixels, **dict(image, photometric=Photometric.MONOCHROME2))
    assert np.corrcoef(seen.ravel(), as_monochrome2.ravel())[0, 1] < -0.95  # inverted (up to equalization)


def test_compressed_fixtures_decode_with_pillow(session, dicom_fixtures):
    for name, size in (("rg1_small_jpeg_baseline.dcm", (325, 306)), ("rg1_thumb_jpeg2000.dcm", (64, 64))):
        pixels, image = dicom_image(read(dicom_fixtures, name))
        assert pixels.dtype == np.uint8 and pixels.shape == size and image["window"] is None
        assert len(session.generate(pixels, **image)) >= 1


def test_planar_rgb_becomes_interleaved(session, dicom_fixtures):
    dataset = read(dicom_fixtures, "rgb_planar.dcm")
    pixels, image = dicom_image(dataset)
    planes = np.frombuffer(dataset.PixelData, np.uint8).reshape(3, 96, 96)  # PlanarConfiguration 1
    assert image == {} and pixels.shape == (96, 96, 3) and np.array_equal(pixels, np.moveaxis(planes, 0, 2))
    assert len(session.generate(pixels)) >= 1


def test_window_rules():
    ds = pydicom.Dataset()
    assert dicom_window(ds) is None
    ds.WindowCenter, ds.WindowWidth = ["40", "400"], ["400", "2000"]
    assert dicom_window(ds) == (40.0, 400.0)
    ds.WindowWidth = "1"
    assert dicom_window(ds) is None


def test_unsupported_layouts_name_the_attribute():
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 1, 16, 16, 15
    ds.PixelRepresentation, ds.PhotometricInterpretation = 0, "PALETTE COLOR"
    ds.PixelData = np.zeros((16, 16), np.uint16).tobytes()
    with pytest.raises(ValueError, match="PALETTE COLOR"):
        dicom_image(ds)


def test_real_dicoms(session, real_dicom_dir):
    for name in sorted(os.listdir(real_dicom_dir)):
        pixels, image = dicom_image(pydicom.dcmread(os.path.join(real_dicom_dir, name)))
        assert len(session.generate(pixels, **image)) >= 1


def _generate(session, dataset):
    pixels, image = dicom_image(dataset)
    return session.generate(pixels, **image)
