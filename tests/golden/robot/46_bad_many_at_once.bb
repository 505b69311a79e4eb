s1 = teleport();
s2 = pick(object=red_cup, speed=9 m/s) after s9;
s3 = release(object=blue_block);
