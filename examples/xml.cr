require "xml"
doc = XML.parse(<<-XML)
  <library name="cwpkg">
    <package kind="c">pcre</package>
    <package kind="c">gmp</package>
    <package kind="crystal">spec</package>
  </library>
  XML
root = doc.first_element_child.not_nil!
puts root["name"]
doc.xpath_nodes("//package[@kind='c']").each { |node| puts node.content }
puts doc.xpath_float("count(//package)")
puts XML.build(indent: "  ") { |xml| xml.element("a", id: "1") { xml.text "b & c" } }
