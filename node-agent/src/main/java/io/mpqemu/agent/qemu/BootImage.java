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
 *
 * <p>{@link #writeDataDisk} and {@link #writeChainReader} prove that a guest reads through more
 * than one storage device: the chain reader boots, prints its own message, then reads sector 0 of
 * every BIOS hard disk 0x80..0x83 and prints the message of each data disk it finds there.
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

  /** The magic at the start of a data disk's first sector. */
  public static final String DATA_MAGIC = "MPQD";

  static final int SECTOR_BUFFER = 0x8000;

  /**
   * The chain reader's code, loaded at 0x7c00; its message (text, CR, LF, NUL) follows at
   * {@code CHAIN_READER.length}:
   * <pre>
   *   00  cli; cld; xor ax,ax; mov ds,ax; mov es,ax; mov ss,ax; mov sp,0x7c00; sti
   *   0e  mov byte [0x8200],0          ; a NUL after the sector buffer bounds every print
   *   13  mov si,msg; call print
   *   19  mov dl,0x80
   *   1b  scan: mov word [0x8000],0    ; no stale magic from an earlier drive
   *   21  push dx; mov ax,0x0201; mov cx,0x0001; mov dh,0; mov bx,0x8000
   *   2d  int 0x13                     ; read C0/H0/S1, 1 sector, drive DL, into 0000:8000
   *   2f  pop dx; jc next
   *   32  cmp word [0x8000],'MP'; jne next; cmp word [0x8002],'QD'; jne next
   *   42  mov si,0x8004; call print; mov si,crlf; call print
   *   4e  next: inc dl; cmp dl,0x84; jb scan
   *   55  cli; hlt; jmp hlt
   *   59  print: push dx; mov dx,0x3f8
   *   5d  p: lodsb; test al,al; jz d; out dx,al; jmp p
   *   65  d: pop dx; ret
   *   67  crlf: db 13,10,0
   *   6a  msg
   * </pre>
   * Assembled with GNU as ({@code .code16}) and checked with {@code objdump -m i8086}.
   */
  private static final byte[] CHAIN_READER = {
    (byte) 0xFA, // 00 cli
    (byte) 0xFC, // 01 cld
    (byte) 0x31, (byte) 0xC0, // 02 xor ax,ax
    (byte) 0x8E, (byte) 0xD8, // 04 mov ds,ax
    (byte) 0x8E, (byte) 0xC0, // 06 mov es,ax
    (byte) 0x8E, (byte) 0xD0, // 08 mov ss,ax
    (byte) 0xBC, 0x00, 0x7C, // 0a mov sp,0x7c00
    (byte) 0xFB, // 0d sti
    (byte) 0xC6, 0x06, 0x00, (byte) 0x82, 0x00, // 0e mov byte [0x8200],0
    (byte) 0xBE, 0, 0, // 13 mov si,<message address>, patched at CHAIN_MESSAGE_OPERAND
    (byte) 0xE8, 0x40, 0x00, // 16 call print (0x59)
    (byte) 0xB2, (byte) 0x80, // 19 mov dl,0x80
    (byte) 0xC7, 0x06, 0x00, (byte) 0x80, 0x00, 0x00, // 1b scan: mov word [0x8000],0
    (byte) 0x52, // 21 push dx
    (byte) 0xB8, 0x01, 0x02, // 22 mov ax,0x0201 (AH=02 read, AL=1 sector)
    (byte) 0xB9, 0x01, 0x00, // 25 mov cx,0x0001 (cylinder 0, sector 1)
    (byte) 0xB6, 0x00, // 28 mov dh,0 (head 0)
    (byte) 0xBB, 0x00, (byte) 0x80, // 2a mov bx,0x8000 (ES:BX = 0000:8000)
    (byte) 0xCD, 0x13, // 2d int 0x13
    (byte) 0x5A, // 2f pop dx
    (byte) 0x72, 0x1C, // 30 jc next (0x4e)
    (byte) 0x81, 0x3E, 0x00, (byte) 0x80, 'M', 'P', // 32 cmp word [0x8000],'MP'
    (byte) 0x75, 0x14, // 38 jne next
    (byte) 0x81, 0x3E, 0x02, (byte) 0x80, 'Q', 'D', // 3a cmp word [0x8002],'QD'
    (byte) 0x75, 0x0C, // 40 jne next
    (byte) 0xBE, 0x04, (byte) 0x80, // 42 mov si,0x8004
    (byte) 0xE8, 0x11, 0x00, // 45 call print
    (byte) 0xBE, 0x67, 0x7C, // 48 mov si,crlf (0x7c67)
    (byte) 0xE8, 0x0B, 0x00, // 4b call print
    (byte) 0xFE, (byte) 0xC2, // 4e next: inc dl
    (byte) 0x80, (byte) 0xFA, (byte) 0x84, // 50 cmp dl,0x84
    (byte) 0x72, (byte) 0xC6, // 53 jb scan (0x1b)
    (byte) 0xFA, // 55 cli
    (byte) 0xF4, // 56 hlt
    (byte) 0xEB, (byte) 0xFD, // 57 jmp hlt (0x56)
    (byte) 0x52, // 59 print: push dx
    (byte) 0xBA, (byte) (COM1 & 0xff), (byte) (COM1 >> 8), // 5a mov dx,0x3f8
    (byte) 0xAC, // 5d lodsb
    (byte) 0x84, (byte) 0xC0, // 5e test al,al
    (byte) 0x74, 0x03, // 60 jz (0x65)
    (byte) 0xEE, // 62 out dx,al
    (byte) 0xEB, (byte) 0xF8, // 63 jmp (0x5d)
    (byte) 0x5A, // 65 pop dx
    (byte) 0xC3, // 66 ret
    '\r', '\n', 0, // 67 crlf
  };
  private static final int CHAIN_MESSAGE_OPERAND = 0x14;

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

  /**
   * Writes (or overwrites) {@code file} with a data disk for {@link #writeChainReader}: 1 MiB, not
   * bootable (no 0x55AA signature), whose first sector is {@value #DATA_MAGIC}, the message, NUL.
   *
   * @param message printable ASCII, at most {@value #MAX_MESSAGE_LENGTH} characters
   */
  public static void writeDataDisk(Path file, String message) throws IOException {
    byte[] image = new byte[SIZE];
    byte[] sector = dataSector(message);
    System.arraycopy(sector, 0, image, 0, sector.length);
    Files.write(file, image);
  }

  /**
   * Writes (or overwrites) {@code file} with a bootable disk that prints {@code message} + CR LF
   * on COM1, then reads LBA 0 of BIOS hard disks 0x80..0x83 (INT 13h AH=02h) and, for each one
   * that reads and starts with {@value #DATA_MAGIC}, prints the NUL-terminated string after the
   * magic + CR LF; then it halts forever. The drives are scanned in BIOS order, so the output
   * order of the data disks' messages follows the BIOS drive numbering.
   *
   * @param message printable ASCII, at most {@value #MAX_MESSAGE_LENGTH} characters
   */
  public static void writeChainReader(Path file, String message) throws IOException {
    byte[] image = new byte[SIZE];
    byte[] sector = chainReaderSector(message);
    System.arraycopy(sector, 0, image, 0, sector.length);
    Files.write(file, image);
  }

  /** The data disk's first sector alone. */
  static byte[] dataSector(String message) {
    byte[] text = checkMessage(message);
    byte[] sector = new byte[SECTOR_SIZE];
    int at = put(sector, 0, DATA_MAGIC.getBytes(StandardCharsets.US_ASCII));
    put(sector, at, text); // the NUL is already there
    return sector;
  }

  /** The chain reader's boot sector alone. */
  static byte[] chainReaderSector(String message) {
    byte[] text = checkMessage(message);
    byte[] sector = new byte[SECTOR_SIZE];
    int at = put(sector, 0, CHAIN_READER);
    int address = LOAD_ADDRESS + at;
    sector[CHAIN_MESSAGE_OPERAND] = (byte) (address & 0xff);
    sector[CHAIN_MESSAGE_OPERAND + 1] = (byte) (address >> 8);
    at = put(sector, at, text);
    put(sector, at, new byte[] {'\r', '\n', 0});
    sector[510] = 0x55;
    sector[511] = (byte) 0xAA;
    return sector;
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
