/** Addresses as users write them ({@code unix:/path}, {@code tcp:host:port}) and what they mean. */
package io.mpqemu.net;
