# GC.disable and GC.enable under cwpkg's runtime mean what they mean natively: while the collector is
# disabled no collection runs, not even an explicit GC.collect, and the heap grows instead; enabled
# again, collections resume.

def churn(megabytes : Int32) : Int64
  sum = 0_i64
  (megabytes * 16).times do |i|
    array = Array(Int32).new(16384, i) # 64 KiB of garbage
    sum &+= array[-1]
  end
  sum
end

GC.collect
GC.disable
disabled_at = GC.prof_stats.gc_no
churn(128)
GC.collect
puts "collections while disabled: #{GC.prof_stats.gc_no - disabled_at}"
puts "heap grew past 96 MiB: #{GC.stats.heap_size > 96 << 20}"
GC.enable
enabled_at = GC.prof_stats.gc_no
churn(128)
GC.collect
puts "collections resumed: #{GC.prof_stats.gc_no > enabled_at}"
