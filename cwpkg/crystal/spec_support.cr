# Required by `cwpkg spec` after the spec files, before the spec runner starts (at exit).
#
# CWPKG_SPEC_LIST=1 prints the examples and exits without running them. Built with cwpkg's exceptions
# (the default of `cwpkg spec`), the examples run together: CWPKG_SPEC_REPORT=1 adds a formatter that
# prints each example's result on a line of its own, as it comes. Without them (`--no-exceptions`)
# Crystal 1.6.0 cannot catch exceptions on wasm32: a failing `should` raises, and the raise ends the
# program, so cwpkg runs every example in a process of its own: CWPKG_SPEC_EXAMPLE=N keeps only the
# N-th (in definition order, with its groups and their hooks) and lets the runner go on as usual.
module CwpkgSpec
  alias Found = Array({Spec::Example, String})

  def self.examples(context : Spec::Context, prefix : String, found : Found) : Found
    context.children.each do |child|
      name = prefix.empty? ? child.description : "#{prefix} #{child.description}"
      case child
      when Spec::ExampleGroup then examples(child, name, found)
      when Spec::Example      then found << {child, name}
      end
    end
    found
  end

  def self.keep_only(context : Spec::Context, chosen : Spec::Example) : Bool
    context.children.select! do |child|
      case child
      when Spec::ExampleGroup then keep_only(child, chosen)
      else                         child.same?(chosen)
      end
    end
    !context.children.empty?
  end

  class ResultLines < Spec::Formatter
    def report(result)
      message = result.exception.try { |error| "#{error.class}: #{error.message}" } || ""
      fields = {"cwpkg-result", result.file, result.line, result.kind.to_s.downcase, message.gsub(/\s+/, " ")}
      STDOUT.puts "\n#{fields.join('\t')}"
      STDOUT.flush
    end
  end

  def self.start : Nil
    examples = self.examples(Spec.root_context, "", Found.new)
    if ENV["CWPKG_SPEC_LIST"]? == "1"
      examples.each_with_index do |(example, name), index|
        fields = {"cwpkg-example", index, example.file, example.line, example.end_line, name.gsub(/\s+/, " ")}
        STDOUT.puts fields.join('\t')
      end
      STDOUT.flush
      LibC._exit(0)
    elsif chosen = ENV["CWPKG_SPEC_EXAMPLE"]?
      keep_only(Spec.root_context, examples[chosen.to_i][0])
    elsif ENV["CWPKG_SPEC_REPORT"]? == "1"
      Spec.override_default_formatter(ResultLines.new)
    end
  end
end

CwpkgSpec.start

