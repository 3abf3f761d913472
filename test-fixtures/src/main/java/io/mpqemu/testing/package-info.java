/** Test plumbing shared by every module's tests: waiting, certificates, separate JVMs, boundary rules. */
package io.mpqemu.testing;
