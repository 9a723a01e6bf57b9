# The benchmarks game's fannkuch-redux: integer arithmetic and array permutations, no allocation
# in the loop.
def fannkuch(n : Int32) : {Int32, Int32}
  perm1 = Array(Int32).new(n) { |i| i }
  perm = Array(Int32).new(n, 0)
  count = Array(Int32).new(n, 0)
  max_flips = checksum = permutation = 0
  r = n
  loop do
    while r != 1
      count[r - 1] = r
      r -= 1
    end
    n.times { |i| perm[i] = perm1[i] }
    flips = 0
    while (k = perm[0]) != 0
      i, j = 0, k
      while i < j
        perm[i], perm[j] = perm[j], perm[i]
        i += 1
        j -= 1
      end
      flips += 1
    end
    max_flips = flips if flips > max_flips
    checksum += permutation.even? ? flips : -flips
    loop do
      return {checksum, max_flips} if r == n
      first = perm1[0]
      r.times { |i| perm1[i] = perm1[i + 1] }
      perm1[r] = first
      count[r] -= 1
      break if count[r] > 0
      r += 1
    end
    permutation += 1
  end
end

n = (ARGV[0]? || "10").to_i
checksum, flips = fannkuch(n)
puts checksum
puts "Pfannkuchen(#{n}) = #{flips}"
