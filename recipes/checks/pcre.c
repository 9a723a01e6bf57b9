/* pcre: capture groups, UTF-8 with Unicode properties, and a failing match. */
#include <pcre.h>
#include <stdio.h>
#include <string.h>

static pcre *compile(const char *pattern, int options) {
    const char *error;
    int offset;
    pcre *re = pcre_compile(pattern, options, &error, &offset, NULL);
    if (re == NULL) printf("compile error at %d: %s\n", offset, error);
    return re;
}

int main(void) {
    const char *subject = "mail alice@example.org now";
    const char *pattern = "(\\w+)@(\\w+)\\.(com|org)";
    int groups[30];
    pcre *re = compile(pattern, 0);
    if (re == NULL) return 1;
    int count = pcre_exec(re, NULL, subject, (int)strlen(subject), 0, 0, groups, 30);
    printf("pattern %s on \"%s\"\n", pattern, subject);
    for (int i = 0; i < count; i++)
        printf("  group %d: %.*s\n", i, groups[2 * i + 1] - groups[2 * i], subject + groups[2 * i]);

    const char *word = "\xc3\x84rger";
    pcre *upper = compile("\\p{Lu}\\p{Ll}+", PCRE_UTF8 | PCRE_UCP);
    if (upper == NULL) return 1;
    int found = pcre_exec(upper, NULL, word, (int)strlen(word), 0, 0, groups, 30);
    if (found == 1) printf("utf-8: \"\\p{Lu}\\p{Ll}+\" matches \"%s\" at %d..%d\n", word, groups[0], groups[1]);

    int missing = pcre_exec(re, NULL, "nothing here", 12, 0, 0, groups, 30);
    printf("no match: %d\n", missing == PCRE_ERROR_NOMATCH);
    pcre_free(re);
    pcre_free(upper);
    return count == 4 && found == 1 && missing == PCRE_ERROR_NOMATCH ? 0 : 1;
}
