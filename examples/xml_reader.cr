# XML::Reader (libxml2's xmlTextReader) walks a document node by node.
require "xml"

reader = XML::Reader.new(<<-XML, XML::ParserOptions::NOBLANKS)
  <catalog version="2">
    <book id="b1" lang="en"><title>WebAssembly</title><pages>320</pages></book>
    <book id="b2"><title>Crystal &amp; C</title><pages>210</pages></book>
    <!-- the end -->
  </catalog>
  XML

while reader.read
  case reader.node_type
  when .element?
    attributes = [] of String
    if reader.has_attributes?
      reader.move_to_first_attribute
      loop do
        attributes << "#{reader.name}=#{reader.value}"
        break unless reader.move_to_next_attribute
      end
      reader.move_to_element
    end
    puts "#{"  " * reader.depth}<#{reader.name}> #{attributes.join(" ")}".rstrip
  when .text?
    puts "#{"  " * reader.depth}text: #{reader.value}"
  when .comment?
    puts "#{"  " * reader.depth}comment: #{reader.value.strip}"
  end
end

reader = XML::Reader.new(%(<list><item n="1">one</item><item n="2">two</item></list>))
reader.read
puts reader.read_inner_xml
reader.read
puts reader["n"], reader.read_outer_xml
node = reader.expand
puts node.name, node.content
