# Writes the golden .npy/.npz files used by npy_test.go. Run once with a
# Python that has NumPy (the files are committed; tests do not need Python):
#     cd tensor/testdata && /usr/bin/python3 make_golden.py
import numpy as np

def save(name, arr, version=None):
    with open(name, "wb") as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=False)

half = np.arange(6, dtype="<f4").reshape(2, 3) * 0.5 - 1  # -1 -0.5 0 0.5 1 1.5
save("f4_2x3.npy", half)
save("f4_be_2x3.npy", half.astype(">f4"))
save("f4_v2.npy", half, version=(2, 0))
save("f4_v3.npy", half, version=(3, 0))
save("f4_empty_0x3.npy", np.zeros((0, 3), dtype="<f4"))
save("f8_scalar.npy", np.array(3.25, dtype="<f8"))
save("f8_be.npy", np.array([1e300, -2.5, 0.1], dtype=">f8"))
# 1, smallest subnormal (2^-24), -0, inf, -2, largest finite (65504)
save("f2.npy", np.array([1, 2.0**-24, -0.0, np.inf, -2, 65504], dtype="<f2"))
save("i1.npy", np.array([-128, -1, 0, 127], dtype="|i1"))
save("u1.npy", np.array([[0, 1], [254, 255]], dtype="|u1"))
save("i2_be.npy", np.array([-32768, -2, 258, 32767], dtype=">i2"))
save("u2.npy", np.array([0, 1, 65535], dtype="<u2"))
save("i4_be.npy", np.array([-2147483648, 16909060, 2147483647], dtype=">i4"))
save("u4.npy", np.array([0, 4294967295], dtype="<u4"))
save("i8.npy", np.array([-9223372036854775808, -1, 72623859790382856, 9223372036854775807], dtype="<i8"))
save("u8_be.npy", np.array([0, 18446744073709551615, 258], dtype=">u8"))
save("b1.npy", np.array([[True, False, True]], dtype="|b1"))
save("fortran_2x3.npy", np.asfortranarray(half))
save("c8.npy", np.array([1 + 2j], dtype="<c8"))
save("u3str.npy", np.array(["abc"], dtype="<U3"))
np.savez("stored.npz", alpha=half, beta=np.array([7, 8, 9], dtype="<i8"))
np.savez_compressed("deflated.npz", alpha=half, beta=np.array([7, 8, 9], dtype="<i8"))
