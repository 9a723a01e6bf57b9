# An uncaught raise whose message is expensive to build: Crystal 1.6 on wasm32 prints the exception
# and exits, allocating on the way, so collections fall due on a path that ends the program. The
# runtime must not unwind there (cwpkg marks such paths), and the program must end with the message
# and status 1, never a trap or damaged output.
class ExpensiveError < Exception
  def initialize(@parts : Int32)
    super("expensive")
  end

  def message : String?
    String.build do |io|
      @parts.times { |i| io << "part " << i << ' ' << ("x" * 100) << '\n' }
      io << "end of the expensive message"
    end
  end
end

kept = Array.new(10_000) { |i| "kept #{i}" }
garbage = 0
200.times { |round| garbage += Array.new(5_000) { |i| "g #{round} #{i}" }.sum(&.size) }
puts "before the raise: #{kept.size} kept, #{garbage} bytes of garbage"
STDOUT.flush
raise ExpensiveError.new(200_000)
