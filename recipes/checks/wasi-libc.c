/* wasi-libc: arguments, formatting, sorting, number parsing and a large allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv) {
    printf("argc=%d argv[1]=%s argv[2]=%s\n", argc, argc > 1 ? argv[1] : "-", argc > 2 ? argv[2] : "-");
    long sum = 0, product = 1;
    for (int i = 1; i <= 100; i++) sum += i;
    for (int i = 1; i <= 10; i++) product *= i;
    printf("sum=%ld product=%ld\n", sum, product);
    printf("formatted: [%5d] [%.5f] [%x] [%-10s]\n", 42, 3.14159265, 255, "hello");
    int values[] = {13, 2, 8, 1, 21, 5, 3};
    qsort(values, 7, sizeof values[0], compare);
    printf("sorted:");
    for (int i = 0; i < 7; i++) printf(" %d", values[i]);
    printf("\nstrtol: %ld %ld\n", strtol("ff", NULL, 16), strtol("-17", NULL, 10));
    size_t size = 1 << 20;
    unsigned char *block = malloc(size);
    if (block == NULL) return 1;
    memset(block, 0xA5, size);
    size_t good = 0;
    for (size_t i = 0; i < size; i++) good += block[i] == 0xA5;
    printf("malloc: %zu bytes %s\n", good, good == size ? "ok" : "BAD");
    free(block);
    return good == size ? 0 : 1;
}
