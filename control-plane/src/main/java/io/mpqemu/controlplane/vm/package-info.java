/** VM intents and their status: the controller that turns intents and agent reports into actions. */
package io.mpqemu.controlplane.vm;
