# A plugin whose top-level code raises: the host sees it as every call's error; the instance lives.
fun answer : Int32
  42
end

puts "starting"
raise KeyError.new("no configuration")
