# Where a pushed object ends up is checked: bin_a would leave the workspace.
s1 = push(object=bin_a, direction=left, distance=30 cm);
