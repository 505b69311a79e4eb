s1 = push(object=blue_block, direction=up, distance=5 cm);
