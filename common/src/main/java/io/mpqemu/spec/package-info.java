/** The one VM spec validator that the control plane and the node agent share (pure, no I/O). */
package io.mpqemu.spec;
