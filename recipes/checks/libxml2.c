/* libxml2: parse, XPath, the tree API and serialization, the HTML parser and the streaming reader. */
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <string.h>

static const char *xml =
    "<library><book year=\"2020\"><title>Crystal</title></book>"
    "<book year=\"2022\"><title>WebAssembly &amp; WASI</title></book>"
    "<book year=\"2023\"><title>Boehm GC</title></book></library>";

static void xpath(xmlXPathContextPtr context, const char *expression) {
    xmlXPathObjectPtr result = xmlXPathEvalExpression((const xmlChar *)expression, context);
    if (result == NULL) {
        printf("%s -> error\n", expression);
        return;
    }
    xmlChar *text = xmlXPathCastToString(result);
    printf("%s -> %s\n", expression, (char *)text);
    xmlFree(text);
    xmlXPathFreeObject(result);
}

int main(void) {
    LIBXML_TEST_VERSION
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "library.xml", NULL, 0);
    if (doc == NULL) return 1;
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    xpath(context, "count(//book)");
    xpath(context, "string(//book[@year > 2021][1]/title)");
    xpath(context, "sum(//book/@year)");
    xpath(context, "string(//book[last()]/title)");
    xmlXPathFreeContext(context);
    xmlFreeDoc(doc);

    xmlDocPtr built = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = xmlNewNode(NULL, (const xmlChar *)"packages");
    xmlDocSetRootElement(built, root);
    xmlNodePtr package = xmlNewChild(root, NULL, (const xmlChar *)"package", (const xmlChar *)"bdwgc");
    xmlNewProp(package, (const xmlChar *)"version", (const xmlChar *)"8.2.2");
    xmlChar *dump;
    int size;
    xmlDocDumpMemory(built, &dump, &size);
    printf("%s", (char *)dump);
    xmlFree(dump);
    xmlFreeDoc(built);

    const char *html = "<html><body><p>unclosed <b>bold<p>second</body></html>";
    htmlDocPtr page = htmlReadMemory(html, (int)strlen(html), "page.html", NULL,
                                     HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
    xmlXPathContextPtr html_context = xmlXPathNewContext(page);
    xpath(html_context, "count(//p)");
    xpath(html_context, "string(//p[1]/b)");
    xmlXPathFreeContext(html_context);
    xmlFreeDoc(page);

    xmlTextReaderPtr reader = xmlReaderForMemory(xml, (int)strlen(xml), "library.xml", NULL, 0);
    int elements = 0;
    while (xmlTextReaderRead(reader) == 1)
        if (xmlTextReaderNodeType(reader) == XML_READER_TYPE_ELEMENT) elements++;
    xmlFreeTextReader(reader);
    printf("reader: %d elements\n", elements);
    xmlCleanupParser();
    return 0;
}
