package io.mpqemu.agent.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A 1 MiB raw disk whose boot sector prints a message to COM1 and then halts or powers the machine
 * off: proof that a guest booted through a proxied device, without any guest OS.
 *
 * <p>The sector is hand-assembled 16-bit real-mode code, loaded by the BIOS at 0x7c00:
 * <pre>
 *   cli; cld; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8
 *   next: lodsb; test al,al; jz done; out dx,al; jmp next
 *   done (halt):      cli; hlt; jmp $-1 (back to hlt)
 *   done (power off): mov dx,0x604; mov ax,0x2000; out dx,ax; cli; hlt; jmp $-1
 * </pre>
 * Power-off writes SLP_EN with SLP_TYP 0 (S5, soft off in QEMU's ACPI tables) to PM1a_CNT, at
 * PM base + 4. SeaBIOS programs the PM base to 0x600 on both the {@code pc} (PIIX4) and the
 * {@code q35} (ICH9) machine; verified with QEMU 7.2: the process exits 0 and QMP reports
 * {@code SHUTDOWN} with {@code "guest": true, "reason": "guest-shutdown"} on both.
 */
public final class BootImage {

  /** The size of the disk image in bytes. */
  public static final int SIZE = 1 << 20;

  /** The longest message a boot sector holds. */
  public static final int MAX_MESSAGE_LENGTH = 400;

  static final int SECTOR_SIZE = 512;
  static final int LOAD_ADDRESS = 0x7c00;
  static final int COM1 = 0x3f8;
  static final int PM1A_CNT = 0x600 + 4;
  static final int SLP_EN_S5 = 0x2000;

  private static final byte[] PRINT = {
    (byte) 0xFA, // cli
    (byte) 0xFC, // cld
    (byte) 0x31, (byte) 0xC0, // xor ax,ax
    (byte) 0x8E, (byte) 0xD8, // mov ds,ax
    (byte) 0xBE, 0, 0, // mov si,<message address>, patched at MESSAGE_OPERAND
    (byte) 0xBA, (byte) (COM1 & 0xff), (byte) (COM1 >> 8), // mov dx,0x3f8
    (byte) 0xAC, // next: lodsb
    (byte) 0x84, (byte) 0xC0, // test al,al
    (byte) 0x74, (byte) 0x03, // jz done (+3)
    (byte) 0xEE, // out dx,al
    (byte) 0xEB, (byte) 0xF8, // jmp next (-8)
  };
  private static final int MESSAGE_OPERAND = 7;

  private static final byte[] HALT = {
    (byte) 0xFA, // cli
    (byte) 0xF4, // hlt
    (byte) 0xEB, (byte) 0xFD, // jmp hlt (-3)
  };

  private static final byte[] POWER_OFF = {
    (byte) 0xBA, (byte) (PM1A_CNT & 0xff), (byte) (PM1A_CNT >> 8), // mov dx,0x604
    (byte) 0xB8, (byte) (SLP_EN_S5 & 0xff), (byte) (SLP_EN_S5 >> 8), // mov ax,0x2000
    (byte) 0xEF, // out dx,ax
  };

  private BootImage() {}

  /**
   * Writes (or overwrites) {@code file} with the boot disk.
   *
   * @param message printable ASCII, at most {@value #MAX_MESSAGE_LENGTH} characters; the guest
   *     prints it followed by CR LF
   * @param powerOffAfter power the machine off through ACPI after printing, instead of halting
   */
  public static void writeRaw(Path file, String message, boolean powerOffAfter) throws IOException {
    byte[] image = new byte[SIZE];
    byte[] sector = bootSector(message, powerOffAfter);
    System.arraycopy(sector, 0, image, 0, sector.length);
    Files.write(file, image);
  }

  /** The 512-byte boot sector alone. */
  static byte[] bootSector(String message, boolean powerOffAfter) {
    byte[] text = checkMessage(message);
    byte[] sector = new byte[SECTOR_SIZE];
    int at = put(sector, 0, PRINT);
    if (powerOffAfter) {
      at = put(sector, at, POWER_OFF);
    }
    at = put(sector, at, HALT);
    int address = LOAD_ADDRESS + at;
    sector[MESSAGE_OPERAND] = (byte) (address & 0xff);
    sector[MESSAGE_OPERAND + 1] = (byte) (address >> 8);
    at = put(sector, at, text);
    put(sector, at, new byte[] {'\r', '\n', 0});
    sector[510] = 0x55;
    sector[511] = (byte) 0xAA;
    return sector;
  }

  private static byte[] checkMessage(String message) {
    if (message == null) {
      throw new IllegalArgumentException("a boot message is required");
    }
    if (message.length() > MAX_MESSAGE_LENGTH) {
      throw new IllegalArgumentException(
          "a boot message holds at most " + MAX_MESSAGE_LENGTH + " characters, not " + message.length());
    }
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw new IllegalArgumentException(
            "a boot message may only contain printable ASCII; character " + i + " is not");
      }
    }
    return message.getBytes(StandardCharsets.US_ASCII);
  }

  private static int put(byte[] sector, int at, byte[] bytes) {
    System.arraycopy(bytes, 0, sector, at, bytes.length);
    return at + bytes.length;
  }
}
