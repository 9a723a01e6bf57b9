# libxml2 reports parse errors through the callbacks Crystal installs (xmlSetStructuredErrorFunc):
# XML.parse recovers from a malformed document and keeps what was wrong.
require "xml"

doc = XML.parse(<<-XML)
  <notes>
    <note>unclosed
    <note>second</note>
  </notes>
  XML
doc.errors.try &.each { |error| puts "line #{error.line_number}: #{error.message}" }
puts doc.root.try(&.name)

html = XML.parse_html(%(<html><body><nav><p>HTML5 elements are unknown to libxml2</p></nav></body></html>))
html.errors.try &.each { |error| puts "html line #{error.line_number}: #{error.message}" }
puts html.xpath_string("string(//p)")
