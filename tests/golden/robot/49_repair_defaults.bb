# repair
s1 = push(object=blue_block, direction=left);
s2 = scan();
