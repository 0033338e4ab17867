"""Generates the reference .npy/.npz fixtures in this directory with NumPy (the independent source the
io tests compare against). Run from this directory with any NumPy >= 1.24:

    python3 make_fixtures.py

The files are committed; the tests do not need Python. Values follow simple formulas that the Rust
tests recompute:
  * floats: v(c) = c / 7 - 3, c the row-major (C-order) flat index, rounded to the dtype;
  * integers: listed explicitly in INT_CASES (the test has the same table).
"""
import os
import struct
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def floats(shape, dtype="<f8"):
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float64) / 7.0 - 3.0).reshape(shape).astype(dtype)


def save(name, a):
    # np.save would append .npy to a name without it; always pass full names.
    np.save(path(name), a, allow_pickle=False)


# --- floats: C and Fortran order, both byte orders, 2-D and 3-D ------------------------------------
save("f8_c_5x3.npy", floats((5, 3)))
save("f8_c_2x4x3.npy", floats((2, 4, 3)))
save("f8_f_5x3.npy", np.asfortranarray(floats((5, 3))))
save("f8_f_4x3x2.npy", np.asfortranarray(floats((4, 3, 2))))
save("f8_be_c_5x3.npy", floats((5, 3), ">f8"))
save("f8_be_f_4x3x2.npy", np.asfortranarray(floats((4, 3, 2), ">f8")))
save("f4_c_5x3.npy", floats((5, 3), "<f4"))
save("f4_f_4x3x2.npy", np.asfortranarray(floats((4, 3, 2), "<f4")))
save("f4_be_c_2x4x3.npy", floats((2, 4, 3), ">f4"))
save("f8_c_3x3.npy", floats((3, 3)))

# Format versions 2.0 and 3.0 (4-byte header length; 3.0 allows UTF-8 in the header).
for version in ((2, 0), (3, 0)):
    with open(path(f"f8_v{version[0]}_5x3.npy"), "wb") as f:
        np.lib.format.write_array(f, floats((5, 3)), version=version)

# --- header reference: NumPy-written f64 C-order files of various shapes --------------------------
save("hdr_7.npy", floats((7,)))
save("hdr_scalar.npy", floats(()))
save("hdr_0x4.npy", floats((0, 4)))
save("hdr_123456x0.npy", floats((123456, 0)))
save("hdr_1x2x1x2.npy", floats((1, 2, 1, 2)))
save("hdr_11x1.npy", floats((11, 1)))

# --- integers (spike counts): every width, both byte orders, C and Fortran -------------------------
INT_CASES = {
    "i1": [[-128, 127, 0], [1, -1, 5]],
    "i2": [[-32768, 32767, 0], [300, -300, 7]],
    "i4": [[-2147483648, 2147483647, 0], [70000, -70000, 9]],
    "i8": [[-(2**53), 2**53, 0], [2**40, -(2**40) - 1, 11]],
    "u1": [[0, 255, 1], [2, 3, 4]],
    "u2": [[0, 65535, 1], [256, 3, 4]],
    "u4": [[0, 4294967295, 1], [65536, 3, 4]],
    "u8": [[0, 2**53, 1], [2**32, 3, 4]],
}
for code, rows in INT_CASES.items():
    for endian, tag in (("<", "le"), (">", "be")):
        a = np.array(rows, dtype=endian + code)
        save(f"int_{code}_{tag}_c.npy", a)
        save(f"int_{code}_{tag}_f.npy", np.asfortranarray(a))

# Integers that do not convert exactly: the first in row-major order is [0, 2] (in Fortran storage
# order [1, 0] comes first).
big = np.array([[1, 2, 2**53 + 1], [-(2**53) - 1, 5, 6]], dtype="<i8")
save("int_i8_too_big_f.npy", np.asfortranarray(big))
save("int_u8_too_big_c.npy", np.array([[1, 2], [3, 2**64 - 1]], dtype="<u8"))

# --- unsupported dtypes ----------------------------------------------------------------------------
save("bad_bool.npy", np.array([[True, False], [False, True]]))
save("bad_complex.npy", np.array([[1 + 2j, 3], [4, 5]], dtype="<c16"))
save("bad_unicode.npy", np.array([["ab", "c"], ["d", "e"]], dtype="<U2"))
save("bad_bytes.npy", np.array([[b"ab", b"c"]], dtype="|S2"))
save("bad_float16.npy", np.array([[1, 2], [3, 4]], dtype="<f2"))
save("bad_structured.npy", np.zeros((2, 2), dtype=[("x", "<f8"), ("y", "<i4")]))
np.save(path("bad_object.npy"), np.array([[1, "a"], [None, 2.5]], dtype=object), allow_pickle=True)

# --- shapes the dataset readers refuse ---------------------------------------------------------------
save("shape_1d.npy", floats((6,)))
save("shape_4d.npy", floats((1, 2, 3, 2)))
save("shape_zero_t.npy", floats((0, 3)))

# --- non-finite values ---------------------------------------------------------------------------------
a = floats((4, 3))
a[2, 1] = np.nan
save("nan_4x3.npy", a)
a = floats((2, 3, 4))
a[1, 0, 2] = np.inf
save("inf_2x3x4.npy", a)

# --- .npz ------------------------------------------------------------------------------------------------
def trial(i, t, n=3):
    # trial i: v = (1000 i + c) / 7 - 3
    return ((1000.0 * i + np.arange(t * n, dtype=np.float64)) / 7.0 - 3.0).reshape(t, n)


# 12 ragged trials of shapes (2 + i, 3): archive order arr_0, ..., arr_9, arr_10, arr_11.
np.savez(path("ragged12.npz"), *[trial(i, 2 + i) for i in range(12)])
np.savez_compressed(path("ragged12_compressed.npz"), *[trial(i, 2 + i) for i in range(12)])
# Mixed dtypes across members (f4, big-endian f8, i2, Fortran order).
np.savez(
    path("mixed.npz"),
    trial(0, 3).astype("<f4"),
    trial(1, 4).astype(">f8"),
    np.array([[1, -2, 3], [4, 5, -6]], dtype="<i2"),
    np.asfortranarray(trial(3, 5)),
)
np.savez(path("empty.npz"))
np.savez(path("one_d_member.npz"), trial(0, 3), floats((6,)))
np.savez(path("diff_n.npz"), trial(0, 3), trial(1, 4), trial(2, 5, n=4))
np.savez(path("zero_t_member.npz"), trial(0, 3), np.zeros((0, 3)))
b = trial(1, 4)
b[3, 2] = np.nan
np.savez(path("nan_member.npz"), trial(0, 3), b)
np.savez(path("three_d_member.npz"), trial(0, 3), floats((2, 2, 3)))
np.savez(path("bool_member.npz"), trial(0, 3), np.ones((2, 3), dtype=bool))

with zipfile.ZipFile(path("non_npy_member.npz"), "w") as z:
    z.writestr("arr_0.npy", open(path("f8_c_5x3.npy"), "rb").read())
    z.writestr("notes.txt", "not an array\n")

# A bzip2-compressed member (not something NumPy writes; only stored and deflated are supported).
with zipfile.ZipFile(path("bzip2_member.npz"), "w") as z:
    z.writestr("arr_0.npy", open(path("f8_c_5x3.npy"), "rb").read())
    z.writestr("arr_1.npy", open(path("f8_c_5x3.npy"), "rb").read(), compress_type=zipfile.ZIP_BZIP2)

# A member that lies about its uncompressed size (patched to 2**32 - 16 in the local and central
# headers): must be refused before anything is read.
src = open(path("f8_c_5x3.npy"), "rb").read()
with zipfile.ZipFile(path("lying_size.npz"), "w", compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr("arr_0.npy", src)
raw = bytearray(open(path("lying_size.npz"), "rb").read())
lie = struct.pack("<I", 2**32 - 16)
assert raw[0:4] == b"PK\x03\x04"
raw[22:26] = lie  # local header: uncompressed size
cd = raw.find(b"PK\x01\x02")
raw[cd + 24 : cd + 28] = lie  # central directory: uncompressed size
open(path("lying_size.npz"), "wb").write(bytes(raw))

# A member whose .npy header declares 10^12 elements but holds 15 values.
hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
hdr = hdr + " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
huge = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + floats((5, 3)).tobytes()
with zipfile.ZipFile(path("huge_header_member.npz"), "w") as z:
    z.writestr("arr_0.npy", huge)

print("numpy", np.__version__)
