/* pcre2: named capture groups, UTF with Unicode properties, substitution and a failing match. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

static pcre2_code *compile(const char *pattern, uint32_t options) {
    int error;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &error, &offset, NULL);
    if (re == NULL) printf("compile error %d at %zu\n", error, (size_t)offset);
    return re;
}

int main(void) {
    const char *subject = "mail alice@example.org now";
    const char *pattern = "(?<user>\\w+)@(?<host>\\w+)\\.(com|org)";
    const char *names[] = {"", " (user)", " (host)", ""};
    pcre2_code *re = compile(pattern, 0);
    if (re == NULL) return 1;
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(re, NULL);
    int count = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, match, NULL);
    PCRE2_SIZE *groups = pcre2_get_ovector_pointer(match);
    printf("pattern %s on \"%s\"\n", pattern, subject);
    for (int i = 0; i < count; i++)
        printf("  group %d%s: %.*s\n", i, names[i], (int)(groups[2 * i + 1] - groups[2 * i]), subject + groups[2 * i]);

    const char *word = "\xc3\x84rger";
    pcre2_code *upper = compile("\\p{Lu}\\p{Ll}+", PCRE2_UTF | PCRE2_UCP);
    if (upper == NULL) return 1;
    int found = pcre2_match(upper, (PCRE2_SPTR)word, strlen(word), 0, 0, match, NULL);
    groups = pcre2_get_ovector_pointer(match);
    if (found == 1) printf("utf: \"\\p{Lu}\\p{Ll}+\" matches \"%s\" at %zu..%zu\n", word, (size_t)groups[0], (size_t)groups[1]);

    pcre2_code *dash = compile("-", 0);
    PCRE2_UCHAR output[64];
    PCRE2_SIZE output_size = sizeof output;
    int replaced = pcre2_substitute(dash, (PCRE2_SPTR)"a-b-c", PCRE2_ZERO_TERMINATED, 0, PCRE2_SUBSTITUTE_GLOBAL,
                                    NULL, NULL, (PCRE2_SPTR)"+", 1, output, &output_size);
    printf("substitute: \"a-b-c\" -> \"%s\" (%d replacements)\n", (char *)output, replaced);

    int missing = pcre2_match(re, (PCRE2_SPTR)"nothing here", 12, 0, 0, match, NULL);
    printf("no match: %d\n", missing == PCRE2_ERROR_NOMATCH);
    pcre2_match_data_free(match);
    pcre2_code_free(re);
    pcre2_code_free(upper);
    pcre2_code_free(dash);
    return count == 4 && found == 1 && replaced == 2 && missing == PCRE2_ERROR_NOMATCH ? 0 : 1;
}
