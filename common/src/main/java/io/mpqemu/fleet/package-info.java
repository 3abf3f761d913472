/**
 * What the services need to run as a fleet across hosts: the cluster's certificate roles, TLS options
 * that accept only certificates of the cluster CA with an allowed role (and log whom they refuse), the
 * cluster config file, and the clustered Vert.x (membership by JGroups and the event bus, both under mutual TLS).
 */
package io.mpqemu.fleet;
