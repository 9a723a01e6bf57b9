# A finalizer that raises, in a program that rescues everything: the exception would leave the
# collector's finalizers stopped for good, so the runtime ends the program instead.
class Noisy
  def finalize
    raise "from a finalizer"
  end
end

begin
  20.times do
    10_000.times { Noisy.new }
    GC.collect
  end
rescue error
  puts "rescued #{error.message}"
end
puts "end"
