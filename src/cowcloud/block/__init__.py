"""The block layer: what every domain (images, volumes, instance disks, backups) does with
devices, and none owns. It sits on storage/ and knows nothing of images or volumes.

- targets: the named (cluster, pool) targets of the configuration, resolved to a backend and site;
- taps:    hashes and zero-filling on the one stream;
- ingest:  a byte stream into a device, inspected at its head, capped, hashed, probed with qemu;
- devices: seal (protected snapshot as a clone source), transfer (clone+flatten or extent
           streaming, converting to raw where the target asks for it), remove (deferred while
           COW children exist, fencing a dead writer), hash of a device's content.
"""
