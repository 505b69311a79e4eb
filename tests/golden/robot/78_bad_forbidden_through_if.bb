s1 = pick(object=red_cup);
s2 = release(object=red_cup);
if gripper_empty {
  s3 = push(object=red_cup, direction=left, distance=5 cm);
}
