# Digest, OpenSSL::HMAC and OpenSSL::Cipher (libcrypto, recipes/openssl.yaml)
require "digest/md5"
require "digest/sha1"
require "digest/sha256"
require "digest/sha512"
require "openssl/hmac"
require "openssl/cipher"

puts Digest::MD5.hexdigest("abc")
puts Digest::SHA1.hexdigest("abc")
puts Digest::SHA256.hexdigest("The quick brown fox jumps over the lazy dog")
puts Digest::SHA512.base64digest("abc")

streamed = Digest::SHA256.new
1000.times { |i| streamed << "chunk #{i}\n" }
puts streamed.final.hexstring
puts Digest::MD5.hexdigest { |ctx| ctx.update("a"); ctx.update("bc") }

puts OpenSSL::HMAC.hexdigest(:sha256, "key", "The quick brown fox jumps over the lazy dog")
puts OpenSSL::HMAC.hexdigest(:sha1, "", "")

cipher = OpenSSL::Cipher.new("aes-256-cbc")
cipher.encrypt
cipher.key = "k" * 32
cipher.iv = "i" * 16
sealed = IO::Memory.new
sealed.write(cipher.update("a secret message, longer than one block"))
sealed.write(cipher.final)
puts sealed.to_slice.hexstring

decipher = OpenSSL::Cipher.new("aes-256-cbc")
decipher.decrypt
decipher.key = "k" * 32
decipher.iv = "i" * 16
opened = IO::Memory.new
opened.write(decipher.update(sealed.to_slice))
opened.write(decipher.final)
puts opened.to_s

puts Random::Secure.hex(16).size
