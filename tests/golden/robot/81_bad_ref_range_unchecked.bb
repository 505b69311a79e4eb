s1 = scan(region=table);
s2 = push(object=red_cup, direction=left, distance=$s1.count);
