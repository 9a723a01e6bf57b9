text = "2026-11-30 cwpkg links crystal 1.6.0"
if match = /(\d{4})-(\d\d)-(\d\d)/.match(text)
  puts "date: #{match[1]}/#{match[2]}/#{match[3]}"
end
puts text.scan(/\d+\.\d+\.\d+/).map(&.[0]).join(",")
puts text.gsub(/[aeiou]/) { |vowel| vowel.upcase }
puts "a1b22c333".split(/\d+/).reject(&.empty?).join("|")
