/** Embedded mode (a node agent in the control plane's JVM) and the main class of the control-plane jar. */
package io.mpqemu.dist;
