/* OpenSSL on WASI: digests, an HMAC, AES-256-GCM both ways, random bytes seeded from WASI's
 * random_get, and a TLS context; expected values from Python's hashlib/hmac. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

static void hex(const char *label, const unsigned char *bytes, size_t size) {
    printf("%s: ", label);
    for (size_t i = 0; i < size; i++) printf("%02x", bytes[i]);
    printf("\n");
}

int main(void) {
    const char *names[] = {"MD5", "SHA1", "SHA256", "SHA512"};
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size;
    printf("%s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    for (int i = 0; i < 4; i++) {
        EVP_Digest("abc", 3, out, &size, EVP_get_digestbyname(names[i]), NULL);
        hex(names[i], out, size);
    }
    HMAC(EVP_sha256(), "key", 3, (const unsigned char *)"The quick brown fox jumps over the lazy dog", 43, out, &size);
    hex("HMAC-SHA256", out, size);

    unsigned char key[32], iv[12], tag[16], sealed[64], opened[64];
    memset(key, 7, sizeof key);
    memset(iv, 9, sizeof iv);
    const char *message = "sealed on wasm32";
    int length, total;
    EVP_CIPHER_CTX *cipher = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(cipher, EVP_aes_256_gcm(), NULL, key, iv);
    EVP_EncryptUpdate(cipher, sealed, &length, (const unsigned char *)message, (int)strlen(message));
    total = length;
    EVP_EncryptFinal_ex(cipher, sealed + total, &length);
    total += length;
    EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, sizeof tag, tag);
    EVP_CIPHER_CTX_reset(cipher);
    EVP_DecryptInit_ex(cipher, EVP_aes_256_gcm(), NULL, key, iv);
    EVP_DecryptUpdate(cipher, opened, &length, sealed, total);
    EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_TAG, sizeof tag, tag);
    int verified = EVP_DecryptFinal_ex(cipher, opened + length, &length);
    EVP_CIPHER_CTX_free(cipher);
    hex("AES-256-GCM tag", tag, sizeof tag);
    printf("opened (%s): %.*s\n", verified == 1 ? "verified" : "NOT verified", total, opened);

    unsigned char random[32], again[32];
    int drawn = RAND_bytes(random, sizeof random) == 1 && RAND_bytes(again, sizeof again) == 1;
    printf("random bytes: %s\n", drawn && memcmp(random, again, sizeof random) != 0 ? "ok" : "FAILED");

    SSL_CTX *context = SSL_CTX_new(TLS_method());
    printf("TLS context: %s\n", context != NULL ? "ok" : "FAILED");
    SSL_CTX_free(context);
    return 0;
}
