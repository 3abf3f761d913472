package io.mpqemu.agent.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.mpqemu.spec.ReadyPattern;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ConsoleBuffersTest {

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  @DisplayName("the history keeps the last bytes up to its capacity, oldest first, across wrap-arounds")
  void history() {
    History h = new History(8);
    assertThat(h.last(4).length()).isZero();
    h.append(ascii("abc"));
    assertThat(h.last(100).toString()).isEqualTo("abc");
    h.append(ascii("defghij"));
    assertThat(h.last(100).toString()).isEqualTo("cdefghij");
    assertThat(h.last(3).toString()).isEqualTo("hij");
    h.append(ascii("0123456789XY"));
    assertThat(h.last(8).toString()).isEqualTo("456789XY");
  }

  @Test
  @DisplayName("the ready watch finds a prompt without a newline, across reads, and only once")
  void readyWatch() {
    ReadyWatch w = new ReadyWatch(ReadyPattern.compile("root@[a-z-]+:~#"));
    assertThat(w.feed(ascii("[  OK  ] Started getty\r\nroot@mpq"))).isFalse();
    assertThat(w.feed(ascii("emu-guest:~# "))).isTrue();
    assertThat(w.feed(ascii("\r\nroot@mpqemu-guest:~# "))).as("once").isFalse();
  }

  @Test
  @DisplayName("a match spans no line end, and a line longer than the bound keeps its end")
  void lines() {
    ReadyWatch w = new ReadyWatch(ReadyPattern.compile("login: ready"));
    assertThat(w.feed(ascii("login:\r\n ready\r\n"))).isFalse();
    assertThat(w.feed(ascii("x".repeat(ReadyWatch.MAX_LINE * 3) + "login: ready"))).isTrue();
  }
}
