/* zlib: checksums, compress/uncompress, and a gzip-wrapped deflate/inflate stream in memory. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static unsigned char text[13000], packed[20000], unpacked[13000];

int main(void) {
    for (size_t i = 0; i < sizeof text; i++) text[i] = "Crystal on WebAssembly. "[i % 24];
    printf("version %s\n", zlibVersion());
    const char *hello = "hello, world";
    printf("crc32(\"%s\") = 0x%08lx\n", hello, crc32(0, (const Bytef *)hello, (uInt)strlen(hello)));
    printf("adler32(\"%s\") = 0x%08lx\n", hello, adler32(1, (const Bytef *)hello, (uInt)strlen(hello)));

    uLongf packed_size = sizeof packed, unpacked_size = sizeof unpacked;
    if (compress2(packed, &packed_size, text, sizeof text, 9) != Z_OK) return 1;
    if (uncompress(unpacked, &unpacked_size, packed, packed_size) != Z_OK) return 1;
    int same = unpacked_size == sizeof text && memcmp(text, unpacked, sizeof text) == 0;
    printf("compress: %zu -> %lu bytes, round trip %s\n", sizeof text, packed_size, same ? "ok" : "BAD");

    z_stream deflater = {0}, inflater = {0};
    if (deflateInit2(&deflater, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 1;
    deflater.next_in = text, deflater.avail_in = sizeof text;
    deflater.next_out = packed, deflater.avail_out = sizeof packed;
    if (deflate(&deflater, Z_FINISH) != Z_STREAM_END) return 1;
    size_t gzip_size = deflater.total_out;
    deflateEnd(&deflater);
    memset(unpacked, 0, sizeof unpacked);
    if (inflateInit2(&inflater, 15 + 16) != Z_OK) return 1;
    inflater.next_in = packed, inflater.avail_in = (uInt)gzip_size;
    inflater.next_out = unpacked, inflater.avail_out = sizeof unpacked;
    if (inflate(&inflater, Z_FINISH) != Z_STREAM_END) return 1;
    int gzip_same = inflater.total_out == sizeof text && memcmp(text, unpacked, sizeof text) == 0;
    inflateEnd(&inflater);
    printf("gzip stream: %zu -> %zu bytes, round trip %s\n", sizeof text, gzip_size, gzip_same ? "ok" : "BAD");
    return same && gzip_same && packed[0] == 0x1f && packed[1] == 0x8b ? 0 : 1;
}
