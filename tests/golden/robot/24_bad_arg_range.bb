s1 = push(object=blue_block, direction=left, distance=2 m);
