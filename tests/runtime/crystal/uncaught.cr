# An exception nothing rescues: the program ends with status 1 and the report native Crystal prints.
puts "before"
raise ArgumentError.new("top level")
