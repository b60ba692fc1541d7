"""cupy_kernels."""
