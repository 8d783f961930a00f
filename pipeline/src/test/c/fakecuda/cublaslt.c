// Fake libcublasLt.so.13: nothing is called; the library exists for the cuBLAS binding's link.
int lakelora_fake_cublaslt(void) { return 0; }
