# An exception nothing rescues: the program ends with status 1 and the report native Crystal prints,
# its backtrace naming the functions the raise passed, innermost first. An ensure on the way (which
# raises again, continuing the same path) and an exception rescued and raised again (which keeps its
# first path) must not change what the backtrace shows.
@[NoInline]
def parse_config(text : String) : Int32
  raise ArgumentError.new("top level") if text.empty?
  text.size
end

@[NoInline]
def load_settings(text : String) : Int32
  parse_config(text)
ensure
  STDOUT.puts "ensure ran"
end

class Service
  @[NoInline]
  def start(text : String) : Int32
    load_settings(text)
  rescue error : ArgumentError
    STDOUT.puts "rescued, raising again"
    raise error
  end
end

puts "before"
Service.new.start("")
