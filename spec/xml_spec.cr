require "spec"
require "xml"

describe "XML on wasm32 (libxml2)" do
  it "parses and queries with XPath" do
    doc = XML.parse(%(<r><i n="1">a</i><i n="2">b</i></r>))
    doc.xpath_nodes("//i").map(&.content).should eq(["a", "b"])
    doc.xpath_string("string(//i[@n='2'])").should eq("b")
    doc.xpath_float("count(//i)").should eq(2.0)
  end

  it "builds documents with escaping" do
    xml = XML.build { |builder| builder.element("t", k: "v") { builder.text "1 < 2" } }
    xml.should eq(%(<?xml version="1.0"?>\n<t k="v">1 &lt; 2</t>\n))
  end
end
