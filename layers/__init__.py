"""Neural-network layers that run on real, complex, hyper-dual and bicomplex numbers."""
