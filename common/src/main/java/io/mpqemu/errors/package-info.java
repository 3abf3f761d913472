/** How failures read in log lines and answers. */
package io.mpqemu.errors;
