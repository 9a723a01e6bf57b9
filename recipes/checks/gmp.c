/* gmp: 1000! (Crystal's BigInt example), its digit sum, a modular power, exact rationals. */
#include <gmp.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    mpz_t factorial, digits_sum, base, power, modulus;
    mpz_inits(factorial, digits_sum, base, power, modulus, NULL);
    mpz_fac_ui(factorial, 1000);
    char *text = mpz_get_str(NULL, 10, factorial);
    unsigned long sum = 0;
    for (const char *c = text; *c; c++) sum += (unsigned long)(*c - '0');
    printf("gmp %s\n", gmp_version);
    printf("1000! has %zu digits, digit sum %lu\n", strlen(text), sum);
    printf("1000! starts %.20s and ends %s\n", text, text + strlen(text) - 10);
    mpz_set_ui(base, 2);
    mpz_ui_pow_ui(power, 2, 127);
    mpz_sub_ui(modulus, power, 1);  /* the Mersenne prime 2^127 - 1 */
    printf("2^127 - 1 = %s, probably prime: %d\n", mpz_get_str(NULL, 10, modulus), mpz_probab_prime_p(modulus, 25) > 0);
    mpz_powm_ui(power, base, 1000000, modulus);
    gmp_printf("2^1000000 mod (2^127 - 1) = %Zd\n", power);
    mpq_t a, b;
    mpq_inits(a, b, NULL);
    mpq_set_ui(a, 1, 3);
    mpq_set_ui(b, 1, 6);
    mpq_add(a, a, b);
    gmp_printf("1/3 + 1/6 = %Qd\n", a);
    return 0;
}
