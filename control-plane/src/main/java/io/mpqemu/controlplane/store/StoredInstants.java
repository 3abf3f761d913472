package io.mpqemu.controlplane.store;

import java.time.Instant;
import java.time.LocalDate;

/**
 * Reads the times the store writes ({@link Instant#toString}: {@code 2026-11-30T23:55:13.404123Z}, with 0,
 * 3, 6 or 9 digits of fraction) without {@link java.time.format.DateTimeFormatter}, which took a sixth of a
 * listing's time; any other form goes to {@link Instant#parse}.
 */
final class StoredInstants {

  private StoredInstants() {}

  static Instant parse(String text) {
    int n = text.length();
    if (n < 20 || text.charAt(4) != '-' || text.charAt(7) != '-' || text.charAt(10) != 'T' || text.charAt(13) != ':'
        || text.charAt(16) != ':' || text.charAt(n - 1) != 'Z') {
      return Instant.parse(text);
    }
    int year = digits(text, 0, 4);
    int month = digits(text, 5, 7);
    int day = digits(text, 8, 10);
    int hour = digits(text, 11, 13);
    int minute = digits(text, 14, 16);
    int second = digits(text, 17, 19);
    int nanos = 0;
    if (n > 20) {
      int fraction = n - 21; // between '.' and 'Z'
      if (text.charAt(19) != '.' || fraction < 1 || fraction > 9) {
        return Instant.parse(text);
      }
      nanos = digits(text, 20, n - 1);
      for (int i = fraction; i < 9; i++) {
        nanos *= 10;
      }
    }
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0
        || minute > 59 || second < 0 || second > 59 || nanos < 0) {
      return Instant.parse(text); // not a stored time: Instant.parse says what is wrong with it
    }
    long days = LocalDate.of(year, month, day).toEpochDay(); // refuses 31 April and 29 February 2025
    return Instant.ofEpochSecond(days * 86_400 + hour * 3600L + minute * 60L + second, nanos);
  }

  /** The decimal number in text[from, to), or -1 when a character is not a digit. */
  private static int digits(String text, int from, int to) {
    int value = 0;
    for (int i = from; i < to; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }
}
