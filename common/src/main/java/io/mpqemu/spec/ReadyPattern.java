package io.mpqemu.spec;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A spec's {@code ready_pattern}: a Java regular expression searched within each line of a VM's serial
 * output. Bounded twice, because it comes from a caller and runs on the agent: its text when validated
 * (length, no control characters, no back-references), and each search by the steps it may take (a
 * pattern that backtracks catastrophically on some line stops and does not match that line). Pure.
 */
public final class ReadyPattern {

  public static final int MAX_CHARACTERS = 256;
  /** How many characters one search may read, over all its backtracking, before it gives up on a line. */
  static final long STEPS_PER_LINE = 1_000_000;

  private static final Pattern BACK_REFERENCE = Pattern.compile("\\\\(?:[1-9]|k<)");

  private final Pattern pattern;

  private ReadyPattern(Pattern pattern) {
    this.pattern = pattern;
  }

  /** Checks the field; empty is valid (no readiness signal). */
  public static void validate(String text) {
    compile(text);
  }

  /** The pattern of a valid {@code text}; throws {@link InvalidSpecException} for an invalid one. */
  public static ReadyPattern compile(String text) {
    if (text.length() > MAX_CHARACTERS) {
      throw invalid("ready_pattern is " + text.length() + " characters long: keep it to " + MAX_CHARACTERS + ".");
    }
    for (int i = 0; i < text.length(); i++) {
      if (Character.isISOControl(text.charAt(i))) {
        throw invalid("ready_pattern has a control character at position " + i + ": it is matched within one line,"
            + " so write a tab as \\t and leave line ends out.");
      }
    }
    if (BACK_REFERENCE.matcher(text).find()) {
      throw invalid("ready_pattern uses a back-reference (\\1 or \\k<name>): they are not allowed; match the text"
          + " itself.");
    }
    try {
      return new ReadyPattern(Pattern.compile(text));
    } catch (PatternSyntaxException e) {
      throw invalid("ready_pattern is not a valid regular expression: " + e.getDescription() + " near position "
          + e.getIndex() + " of " + quoted(text) + ".");
    }
  }

  /**
   * Whether the pattern occurs in {@code line}; false too when the search would take more than its
   * bound of steps.
   */
  public boolean foundIn(CharSequence line) {
    try {
      return pattern.matcher(new Bounded(line, STEPS_PER_LINE)).find();
    } catch (TooLong e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return pattern.pattern();
  }

  private static InvalidSpecException invalid(String message) {
    return new InvalidSpecException("ready_pattern", message);
  }

  private static String quoted(String text) {
    return "\"" + text.replace("\"", "\\\"") + "\"";
  }

  private static final class TooLong extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooLong() {
      super(null, null, false, false);
    }
  }

  /** A line that counts the characters the regex engine reads, and stops it past a bound. */
  private static final class Bounded implements CharSequence {
    private final CharSequence text;
    private final long[] left;

    Bounded(CharSequence text, long steps) {
      this(text, new long[] {steps});
    }

    private Bounded(CharSequence text, long[] left) {
      this.text = text;
      this.left = left;
    }

    @Override
    public char charAt(int index) {
      if (--left[0] < 0) {
        throw new TooLong();
      }
      return text.charAt(index);
    }

    @Override
    public int length() {
      return text.length();
    }

    @Override
    public CharSequence subSequence(int start, int end) {
      return new Bounded(text.subSequence(start, end), left);
    }

    @Override
    public String toString() {
      return text.toString();
    }
  }
}
