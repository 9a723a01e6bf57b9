/* A recursion whose frames keep many values in WebAssembly locals (not in
 * the C stack): unwinding them for a collection needs more room than the
 * free part of a small stack (link with -z stack-size=131072).  The runtime
 * must say so and name the option, not corrupt memory. */
#include <stdio.h>

#include <gc.h>

static unsigned depth_reached;

/* Sixteen values live across the recursive call. */
static unsigned recurse(unsigned depth, unsigned seed) {
  unsigned a = seed * 3, b = a ^ 5, c = b + 7, d = c * 11, e = d ^ 13, f = e + 17, g = f * 19, h = g ^ 23;
  unsigned i = h + 29, j = i * 31, k = j ^ 37, l = k + 41, m = l * 43, n = m ^ 47, o = n + 53, p = o * 59;
  unsigned below;

  depth_reached = depth;
  if (depth == 0) {
    for (int round = 0; round < 200; round++) GC_MALLOC(1024); /* a collection falls due here */
    return seed;
  }
  below = recurse(depth - 1, p);
  /* Each value is needed after the call, in an order the compiler cannot fold. */
  below = ((below ^ a) * b ^ c) * d;
  below = ((below ^ e) * f ^ g) * h;
  below = ((below ^ i) * j ^ k) * l;
  return ((below ^ m) * n ^ o) * p;
}

int main(void) {
  GC_INIT();
  printf("%u\n", recurse(4000, 1));
  return 0;
}
