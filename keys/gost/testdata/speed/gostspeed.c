/*
 * gostspeed measures GOST R 34.10-2012 signing and verification with the
 * OpenSSL GOST engine on one core, for comparison with the Go benchmarks of
 * keys/gost (openssl speed in OpenSSL 3.0 has no GOST signatures). It is a
 * measuring tool only: run.sh builds and runs it. Rates are per CPU second of
 * one thread: one key per curve, a fixed 32- or 64-byte digest,
 * EVP_PKEY_sign and EVP_PKEY_verify in a loop for the given time.
 *
 * Usage: gostspeed [seconds]   (default 3 per measurement)
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/ec.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of the process, as openssl speed divides by by default, so that
 * other load on the machine does not count against either side. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "gostspeed: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void bench(ENGINE *e, int nid, const char *paramset, size_t dlen, double secs)
{
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_id(nid, e);
    EVP_PKEY *key = NULL;
    if (kctx == NULL || EVP_PKEY_keygen_init(kctx) <= 0)
        die("keygen init");
    if (EVP_PKEY_CTX_ctrl_str(kctx, "paramset", paramset) <= 0)
        die("paramset");
    if (EVP_PKEY_keygen(kctx, &key) <= 0)
        die("keygen");

    unsigned char digest[64], sig[128];
    size_t siglen = sizeof(sig);
    for (size_t i = 0; i < dlen; i++)
        digest[i] = (unsigned char)(i * 37 + 11);

    EVP_PKEY_CTX *sctx = EVP_PKEY_CTX_new(key, e);
    if (sctx == NULL || EVP_PKEY_sign_init(sctx) <= 0)
        die("sign init");
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 16; i++, n++) {
            siglen = sizeof(sig);
            if (EVP_PKEY_sign(sctx, sig, &siglen, digest, dlen) <= 0)
                die("sign");
        }
        t = now() - t0;
    } while (t < secs);
    double signs = n / t;

    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new(key, e);
    if (vctx == NULL || EVP_PKEY_verify_init(vctx) <= 0)
        die("verify init");
    n = 0;
    t0 = now();
    do {
        for (int i = 0; i < 16; i++, n++)
            if (EVP_PKEY_verify(vctx, sig, siglen, digest, dlen) != 1)
                die("verify");
        t = now() - t0;
    } while (t < secs);
    double verifies = n / t;

    const EC_KEY *ec = EVP_PKEY_get0(key);
    int curve = ec ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : NID_undef;
    printf("%-40s sign %8.0f/s  verify %8.0f/s\n", OBJ_nid2sn(curve), signs, verifies);
    EVP_PKEY_CTX_free(vctx);
    EVP_PKEY_CTX_free(sctx);
    EVP_PKEY_CTX_free(kctx);
    EVP_PKEY_free(key);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3;
    ENGINE *e = ENGINE_by_id("gost");
    if (e == NULL || !ENGINE_init(e))
        die("cannot load the gost engine");
    ENGINE_set_default(e, ENGINE_METHOD_ALL);
    /* The engine's names: for 256-bit keys "TCA" is TC26 A and "A", "B",
     * "C" are the CryptoPro curves; for 512-bit keys "A", "B", "C" are TC26. */
    static const char *p256[] = {"TCA", "A", "B", "C"};
    static const char *p512[] = {"A", "B", "C"};
    for (int i = 0; i < 4; i++)
        bench(e, NID_id_GostR3410_2012_256, p256[i], 32, secs);
    for (int i = 0; i < 3; i++)
        bench(e, NID_id_GostR3410_2012_512, p512[i], 64, secs);
    ENGINE_finish(e);
    ENGINE_free(e);
    return 0;
}
