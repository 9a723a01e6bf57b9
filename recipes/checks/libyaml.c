/* libyaml: parse a document into events, then emit a document with the emitter. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

static const char *const names[] = {
    "NO", "STREAM-START", "STREAM-END", "DOCUMENT-START", "DOCUMENT-END", "ALIAS", "SCALAR",
    "SEQUENCE-START", "SEQUENCE-END", "MAPPING-START", "MAPPING-END",
};

static int write_out(void *data, unsigned char *buffer, size_t size) {
    (void)data;
    fwrite(buffer, 1, size, stdout);
    return 1;
}

static int emit(yaml_emitter_t *emitter, yaml_event_t *event) {
    return yaml_emitter_emit(emitter, event);
}

int main(void) {
    const char *input = "name: cwpkg\nlibs: [gc, pcre]\nnested:\n  key: \"quoted value\"\n";
    yaml_parser_t parser;
    yaml_event_t event;
    printf("version %s\n", yaml_get_version_string());
    if (!yaml_parser_initialize(&parser)) return 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)input, strlen(input));
    int done = 0;
    while (!done) {
        if (!yaml_parser_parse(&parser, &event)) {
            printf("parse error: %s\n", parser.problem);
            return 1;
        }
        if (event.type == YAML_SCALAR_EVENT)
            printf("SCALAR %s\n", (char *)event.data.scalar.value);
        else
            printf("%s\n", names[event.type]);
        done = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);

    yaml_emitter_t emitter;
    if (!yaml_emitter_initialize(&emitter)) return 1;
    yaml_emitter_set_output(&emitter, write_out, NULL);
    int ok = 1;
    ok &= yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING) && emit(&emitter, &event);
    ok &= yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1) && emit(&emitter, &event);
    ok &= yaml_mapping_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) && emit(&emitter, &event);
    const char *scalars[] = {"a", "1", "list"};
    for (int i = 0; i < 3; i++)
        ok &= yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)scalars[i], -1, 1, 1,
                                           YAML_PLAIN_SCALAR_STYLE) && emit(&emitter, &event);
    ok &= yaml_sequence_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) && emit(&emitter, &event);
    const char *items[] = {"x", "y"};
    for (int i = 0; i < 2; i++)
        ok &= yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)items[i], -1, 1, 1,
                                           YAML_PLAIN_SCALAR_STYLE) && emit(&emitter, &event);
    ok &= yaml_sequence_end_event_initialize(&event) && emit(&emitter, &event);
    ok &= yaml_mapping_end_event_initialize(&event) && emit(&emitter, &event);
    ok &= yaml_document_end_event_initialize(&event, 1) && emit(&emitter, &event);
    ok &= yaml_stream_end_event_initialize(&event) && emit(&emitter, &event);
    yaml_emitter_delete(&emitter);
    return ok ? 0 : 1;
}
