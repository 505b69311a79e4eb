s1 = push(object=blue_block, direction=left, distance=5 cm);
s2 = home();
